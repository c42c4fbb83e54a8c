/** Device management: list, read, rename, and delete (behind UIA) a user's devices. */
import { notFound } from '../../spec/errors';
import {
  deleteDeviceBody, deleteDevicesBody, updateDeviceBody,
  type DeleteDeviceBody, type DeleteDevicesBody, type UpdateDeviceBody,
} from '../../spec/schemas/devices';
import type { DeviceRow } from '../../storage/devices';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { PASSWORD } from '../services/uia';

const V3 = '/_matrix/client/v3';

/** definitions/client_device.yaml: absent fields are omitted, not null. */
function deviceJson(d: DeviceRow): Record<string, unknown> {
  return {
    device_id: d.deviceId,
    ...(d.displayName !== null && { display_name: d.displayName }),
    ...(d.lastSeenIp !== null && { last_seen_ip: d.lastSeenIp }),
    ...(d.lastSeenTs !== null && { last_seen_ts: d.lastSeenTs }),
  };
}

const noSuchDevice = () => notFound('No such device');

export function deviceRoutes(s: Services): Route<any>[] {
  const { devices } = s.stores;
  return [
    authed({
      method: 'GET',
      path: `${V3}/devices`,
      guests: true,
      handler: async ({ requester }) => ({ devices: (await devices.list(requester.userId)).map(deviceJson) }),
    }),
    authed({
      method: 'GET',
      path: `${V3}/devices/:deviceId`,
      guests: true,
      handler: async ({ params, requester }) => {
        const device = await devices.get(requester.userId, params.deviceId);
        if (!device) throw noSuchDevice();
        return deviceJson(device);
      },
    }),
    authed<UpdateDeviceBody>({
      method: 'PUT',
      path: `${V3}/devices/:deviceId`,
      guests: true,
      body: updateDeviceBody,
      handler: async ({ params, body, requester }) => {
        const found = body.display_name === undefined
          ? (await devices.get(requester.userId, params.deviceId)) !== undefined
          : await s.accounts.renameDevice(requester.userId, params.deviceId, body.display_name);
        if (!found) throw noSuchDevice();
        return {};
      },
    }),
    authed<DeleteDeviceBody>({
      // Succeeds for a device already gone, as the spec says.
      method: 'DELETE',
      path: `${V3}/devices/:deviceId`,
      body: deleteDeviceBody,
      handler: async ({ params, body, requester }) => {
        const path = `${V3}/devices/${encodeURIComponent(params.deviceId)}`;
        await s.uia.authenticate({ method: 'DELETE', path, requester, body }, [[PASSWORD]]);
        await s.accounts.deleteDevices(requester.userId, [params.deviceId]);
        return {};
      },
    }),
    authed<DeleteDevicesBody>({
      method: 'POST',
      path: `${V3}/delete_devices`,
      body: deleteDevicesBody,
      handler: async ({ body, requester }) => {
        const auth = await s.uia.authenticate({ method: 'POST', path: `${V3}/delete_devices`, requester, body }, [[PASSWORD]]);
        await s.accounts.deleteDevices(requester.userId, auth.body.devices);
        return {};
      },
    }),
  ];
}
