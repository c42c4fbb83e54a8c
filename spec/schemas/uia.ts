/** The `auth` dict of User-Interactive Authentication and the stage-specific dicts inside it. */
import { compileSchema } from '../validate';
import { userIdentifierSchema, type UserIdentifier } from './session';

export interface AuthData {
  type?: string;
  session?: string;
  [key: string]: unknown;
}

/** definitions/auth_data.yaml: the `auth` key of a request body. */
export const authDataSchema = {
  type: 'object',
  properties: { type: { type: 'string' }, session: { type: 'string' } },
};

export interface PasswordAuth {
  type: 'm.login.password';
  identifier?: UserIdentifier;
  /** Legacy form of `identifier: {type: 'm.id.user', user}`. */
  user?: string;
  password: string;
}

export const passwordAuth = compileSchema<PasswordAuth>({
  type: 'object',
  required: ['password'],
  properties: { identifier: userIdentifierSchema, user: { type: 'string' }, password: { type: 'string' } },
});

export interface RegistrationTokenAuth {
  type: 'm.login.registration_token';
  token: string;
}

export const registrationTokenAuth = compileSchema<RegistrationTokenAuth>({
  type: 'object',
  required: ['token'],
  // Opaque identifier grammar, at most 64 characters.
  properties: { token: { type: 'string', maxLength: 64 } },
});
