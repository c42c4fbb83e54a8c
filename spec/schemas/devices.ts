/** Request bodies of the device management endpoints (device_management.yaml). */
import { compileSchema } from '../validate';
import { authDataSchema, type AuthData } from './uia';

export interface UpdateDeviceBody {
  display_name?: string;
}

export const updateDeviceBody = compileSchema<UpdateDeviceBody>({
  type: 'object',
  // The same bound as a login's initial_device_display_name.
  properties: { display_name: { type: 'string', maxLength: 512 } },
});

export interface DeleteDeviceBody {
  auth?: AuthData;
}

export const deleteDeviceBody = compileSchema<DeleteDeviceBody>({
  type: 'object',
  properties: { auth: authDataSchema },
});

export interface DeleteDevicesBody {
  auth?: AuthData;
  devices: string[];
}

export const deleteDevicesBody = compileSchema<DeleteDevicesBody>({
  type: 'object',
  required: ['devices'],
  properties: { auth: authDataSchema, devices: { type: 'array', items: { type: 'string' } } },
});
