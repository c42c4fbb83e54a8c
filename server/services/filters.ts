/** Uploaded filters, and turning an API's `filter` parameter (ID or inline JSON) into a Filter. */
import { invalidParam, notFound } from '../../spec/errors';
import { filterFromJson, isInlineFilter, parseFilter, parseInlineFilter, type Filter } from '../../spec/filter';
import type { FilterJson } from '../../spec/schemas/filter';
import type { FilterStore } from '../../storage/filters';

/** Filter IDs are the decimal form of a non-negative 32-bit integer (the column's range). */
const MAX_FILTER_ID = 2 ** 31 - 1;

function parseFilterId(filterId: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(filterId)) return undefined;
  const id = Number(filterId);
  return id <= MAX_FILTER_ID ? id : undefined;
}

/** Uploaded filters kept parsed: they never change, and clients name the same one on every /sync. */
const REMEMBERED_FILTERS = 10_000;

export class Filters {
  private readonly parsed = new Map<string, Filter>();

  constructor(private readonly filters: FilterStore) {}

  /** Stores a definition that has passed the filter schema; returns its ID. */
  async create(userId: string, definition: FilterJson): Promise<string> {
    return String(await this.filters.add(userId, definition));
  }

  /** The definition as uploaded; 404 M_NOT_FOUND if the user has no such filter. */
  async getDefinition(userId: string, filterId: string): Promise<unknown> {
    const id = parseFilterId(filterId);
    const definition = id === undefined ? undefined : await this.filters.get(userId, id);
    if (definition === undefined) throw notFound('Unknown filter');
    return definition;
  }

  /**
   * The filter a `filter` query parameter names: inline JSON, or the ID of one of
   * the user's filters (an unknown ID is a bad parameter value: 400 M_INVALID_PARAM).
   * No parameter means the filter that lets everything through.
   */
  async resolve(userId: string, param: string | undefined): Promise<Filter> {
    if (param === undefined || param === '') return filterFromJson({});
    if (isInlineFilter(param)) return parseInlineFilter(param);
    const key = `${userId} ${param}`;
    const known = this.parsed.get(key);
    if (known) return known;
    const id = parseFilterId(param);
    const definition = id === undefined ? undefined : await this.filters.get(userId, id);
    if (definition === undefined) throw invalidParam(`Unknown filter '${param}'`);
    const filter = parseFilter(definition);
    this.parsed.set(key, filter);
    if (this.parsed.size > REMEMBERED_FILTERS) this.parsed.delete(this.parsed.keys().next().value!);
    return filter;
  }
}
