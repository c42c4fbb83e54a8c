/** Every Client-Server route. One module per area; add new modules here. */
import type { Route } from '../http/route';
import type { Services } from '../services';
import { accountRoutes } from './account';
import { accountDataRoutes } from './account-data';
import { capabilitiesRoutes } from './capabilities';
import { deviceRoutes } from './devices';
import { directoryRoutes } from './directory';
import { discoveryRoutes } from './discovery';
import { filterRoutes } from './filter';
import { forgetRoutes } from './forget';
import { keyRoutes } from './keys';
import { presenceRoutes } from './presence';
import { notificationRoutes } from './notifications';
import { openIdRoutes } from './openid';
import { profileRoutes } from './profile';
import { pushRuleRoutes } from './push-rules';
import { pusherRoutes } from './pushers';
import { receiptRoutes } from './receipts';
import { registerRoutes } from './register';
import { relationRoutes } from './relations';
import { reportRoutes } from './reports';
import { roomKeyRoutes } from './room-keys';
import { roomRoutes } from './rooms';
import { sessionRoutes } from './session';
import { spaceRoutes } from './spaces';
import { synapseAdminRoutes } from './synapse-admin';
import { syncRoutes } from './sync';
import { tagRoutes } from './tags';
import { timelineRoutes } from './timeline';
import { toDeviceRoutes } from './to-device';
import { typingRoutes } from './typing';
import { upgradeRoutes } from './upgrade';

export function clientRoutes(s: Services): Route<any>[] {
  return [
    ...discoveryRoutes(s),
    ...sessionRoutes(s),
    ...registerRoutes(s),
    ...accountRoutes(s),
    ...deviceRoutes(s),
    ...synapseAdminRoutes(s),
    ...profileRoutes(s),
    ...accountDataRoutes(s),
    ...filterRoutes(s),
    ...capabilitiesRoutes(s),
    ...roomRoutes(s),
    ...timelineRoutes(s),
    ...relationRoutes(s),
    ...directoryRoutes(s),
    ...spaceRoutes(s),
    ...reportRoutes(s),
    ...forgetRoutes(s),
    ...upgradeRoutes(s),
    ...syncRoutes(s),
    ...keyRoutes(s),
    ...roomKeyRoutes(s),
    ...typingRoutes(s),
    ...presenceRoutes(s),
    ...toDeviceRoutes(s),
    ...tagRoutes(s),
    ...pushRuleRoutes(s),
    ...pusherRoutes(s),
    ...notificationRoutes(s),
    ...receiptRoutes(s),
    ...openIdRoutes(s),
  ];
}
