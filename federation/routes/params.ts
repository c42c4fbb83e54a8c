/** Query parameters of the federation endpoints beyond those the client API's paging shares (server/routes/pagination.ts). */
import { invalidParam, missingParam } from '../../spec/errors';

/** A parameter that must be present and non-empty, else 400 M_MISSING_PARAM. */
export function requiredParam(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw missingParam(`Missing required parameter '${name}'`);
  return value;
}

/** An optional non-negative integer `limit`, else 400 M_INVALID_PARAM. */
export function optionalLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalidParam("'limit' must be a non-negative integer");
  return Number(value);
}
