/** Request bodies of /login and /refresh (login.yaml, refresh.yaml). */
import { compileSchema } from '../validate';

export interface UserIdentifier {
  type: string;
  user?: string;
  [key: string]: unknown;
}

export const userIdentifierSchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, user: { type: 'string' } },
};

export interface LoginBody {
  type: string;
  identifier?: UserIdentifier;
  user?: string;
  password?: string;
  token?: string;
  device_id?: string;
  initial_device_display_name?: string;
  refresh_token?: boolean;
}

export const loginBody = compileSchema<LoginBody>({
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    identifier: userIdentifierSchema,
    user: { type: 'string' },
    password: { type: 'string' },
    token: { type: 'string' },
    device_id: { type: 'string', minLength: 1, maxLength: 255 },
    initial_device_display_name: { type: 'string', maxLength: 512 },
    refresh_token: { type: 'boolean' },
  },
});

export const refreshBody = compileSchema<{ refresh_token: string }>({
  type: 'object',
  required: ['refresh_token'],
  properties: { refresh_token: { type: 'string' } },
});
