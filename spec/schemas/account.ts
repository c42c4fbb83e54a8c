/** Request bodies of /account/password and /account/deactivate. */
import { compileSchema } from '../validate';
import { authDataSchema, type AuthData } from './uia';

export interface PasswordChangeBody {
  auth?: AuthData;
  /** Required by the spec; checked after UIA, since an earlier request of the session may have given it. */
  new_password?: string;
  logout_devices?: boolean;
}

export const passwordChangeBody = compileSchema<PasswordChangeBody>({
  type: 'object',
  properties: {
    auth: authDataSchema,
    new_password: { type: 'string' },
    logout_devices: { type: 'boolean' },
  },
});

export interface DeactivateBody {
  auth?: AuthData;
  id_server?: string;
  erase?: boolean;
}

export const deactivateBody = compileSchema<DeactivateBody>({
  type: 'object',
  properties: {
    auth: authDataSchema,
    id_server: { type: 'string' },
    erase: { type: 'boolean' },
  },
});
