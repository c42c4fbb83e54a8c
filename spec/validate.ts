/**
 * Request-body validation: ajv schemas (spec/schemas/) compiled once, and ajv's
 * complaints turned into the Matrix error a client expects, naming the field.
 */
import Ajv, { type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import { badJson, invalidParam, MatrixError, missingParam } from './errors';

const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: false });

export type Validator<T> = ValidateFunction<T>;

export function compileSchema<T>(schema: JSONSchemaType<T> | object): Validator<T> {
  return ajv.compile<T>(schema as JSONSchemaType<T>);
}

/** Returns the value typed as T, or throws the Matrix error for its first problem. */
export function checkBody<T>(validator: Validator<T>, value: unknown): T {
  if (validator(value)) return value;
  throw toMatrixError(validator.errors?.[0]);
}

function fieldName(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  return path || 'body';
}

export function toMatrixError(e: ErrorObject | undefined): MatrixError {
  if (!e) return badJson('Invalid request body');
  const field = fieldName(e);
  switch (e.keyword) {
    case 'required':
      return missingParam(`Missing required field '${field}'`);
    case 'type':
      return badJson(`'${field}' must be of type ${(e.params as { type: string }).type}`);
    case 'additionalProperties':
      return badJson(`'${field}' has an unexpected key '${(e.params as { additionalProperty: string }).additionalProperty}'`);
    case 'enum':
      return invalidParam(`'${field}' must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
    default:
      return invalidParam(`'${field}' ${e.message ?? 'is invalid'}`);
  }
}
