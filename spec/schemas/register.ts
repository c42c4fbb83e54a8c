/** Request bodies of /register (registration.yaml) and /_synapse/admin/v1/register. */
import { compileSchema } from '../validate';
import { authDataSchema, type AuthData } from './uia';

export interface RegisterBody {
  auth?: AuthData;
  username?: string;
  password?: string;
  device_id?: string;
  initial_device_display_name?: string;
  inhibit_login?: boolean;
  refresh_token?: boolean;
}

export const registerBody = compileSchema<RegisterBody>({
  type: 'object',
  properties: {
    auth: authDataSchema,
    username: { type: 'string' },
    password: { type: 'string' },
    device_id: { type: 'string', minLength: 1, maxLength: 255 },
    initial_device_display_name: { type: 'string', maxLength: 512 },
    inhibit_login: { type: 'boolean' },
    refresh_token: { type: 'boolean' },
  },
});

export interface SharedSecretRegisterBody {
  nonce: string;
  username: string;
  password: string;
  mac: string;
  admin?: boolean;
  displayname?: string;
  user_type?: string;
  refresh_token?: boolean;
}

export const sharedSecretRegisterBody = compileSchema<SharedSecretRegisterBody>({
  type: 'object',
  required: ['nonce', 'username', 'password', 'mac'],
  properties: {
    nonce: { type: 'string' },
    // Synapse's limits.
    username: { type: 'string', maxLength: 512 },
    password: { type: 'string', maxLength: 512 },
    mac: { type: 'string' },
    admin: { type: 'boolean' },
    displayname: { type: 'string' },
    user_type: { type: 'string', nullable: true },
    refresh_token: { type: 'boolean' },
  },
});
