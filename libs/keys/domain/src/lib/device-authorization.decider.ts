import { assertNever, Decider, DomainError } from '@keyledger/domain';
import type { Environment, Scope } from '@keyledger/contracts';

export const DEVICE_CODE_TTL_SECONDS = 900;
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
export const SLOW_DOWN_STEP_SECONDS = 5;

export type DeviceCommand =
  | Readonly<{
      type: 'RequestDeviceAuthorization';
      data: { device_id: string; device_code_hash: string; user_code: string; agent_name: string; scopes: Scope[]; now: string };
    }>
  | Readonly<{
      type: 'ApproveDeviceAuthorization';
      data: { org_id: string; environment: Environment; agent_id: string; scopes: Scope[]; approved_by: string; now: string };
    }>
  | Readonly<{ type: 'DenyDeviceAuthorization'; data: { org_id: string; denied_by: string; now: string } }>
  /** A poll: answers with an error (pending, slow down, denied, expired) or completes with a key. */
  | Readonly<{ type: 'RedeemDeviceCode'; data: { key_id: string; last_polled_at: string | null; now: string } }>;

export type DeviceEvent =
  | Readonly<{
      type: 'DeviceAuthorizationRequested';
      data: {
        device_id: string;
        device_code_hash: string;
        user_code: string;
        agent_name: string;
        scopes: Scope[];
        interval: number;
        expires_at: string;
        requested_at: string;
      };
    }>
  | Readonly<{
      type: 'DeviceAuthorizationApproved';
      data: {
        device_id: string;
        org_id: string;
        environment: Environment;
        agent_id: string;
        /** The scopes the issued key gets: those requested, within the approver's own. */
        scopes: Scope[];
        approved_by: string;
        approved_at: string;
      };
    }>
  | Readonly<{ type: 'DeviceAuthorizationDenied'; data: { device_id: string; org_id: string; denied_by: string; denied_at: string } }>
  | Readonly<{ type: 'DevicePollingSlowed'; data: { device_id: string; interval: number; at: string } }>
  | Readonly<{ type: 'DeviceAuthorizationCompleted'; data: { device_id: string; key_id: string; completed_at: string } }>;

type Requested = Extract<DeviceEvent, { type: 'DeviceAuthorizationRequested' }>['data'];

export type DeviceState =
  | { status: 'absent' }
  | (Requested & { status: 'pending' | 'denied' | 'completed' })
  | (Requested & { status: 'approved'; org_id: string; environment: Environment; agent_id: string });

export type ApprovedDevice = Extract<DeviceState, { status: 'approved' }>;

export const deviceStream = (deviceId: string) => `device-${deviceId}`;

function requireOpen(state: DeviceState, now: string) {
  if (state.status === 'absent') throw new DomainError('NOT_FOUND', 'no such device authorization');
  if (state.status === 'completed' || state.expires_at <= now) {
    throw new DomainError('EXPIRED_TOKEN', 'this device code has expired or was already used');
  }
  return state;
}

export const deviceAuthorizationDecider: Decider<DeviceCommand, DeviceEvent, DeviceState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'RequestDeviceAuthorization': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', 'device authorization exists');
        const { now, ...request } = command.data;
        return [
          {
            type: 'DeviceAuthorizationRequested',
            data: {
              ...request,
              interval: DEVICE_POLL_INTERVAL_SECONDS,
              expires_at: new Date(Date.parse(now) + DEVICE_CODE_TTL_SECONDS * 1000).toISOString(),
              requested_at: now,
            },
          },
        ];
      }
      case 'ApproveDeviceAuthorization':
      case 'DenyDeviceAuthorization': {
        const device = state.status === 'absent' || state.expires_at <= command.data.now ? null : state;
        // An unknown, expired or already-decided code looks the same to the approver: not found.
        if (device === null || device.status !== 'pending') throw new DomainError('NOT_FOUND', 'no pending request with this user code');
        if (command.type === 'DenyDeviceAuthorization') {
          const { org_id, denied_by, now } = command.data;
          return [{ type: 'DeviceAuthorizationDenied', data: { device_id: device.device_id, org_id, denied_by, denied_at: now } }];
        }
        const { now, ...approval } = command.data;
        return [{ type: 'DeviceAuthorizationApproved', data: { device_id: device.device_id, ...approval, approved_at: now } }];
      }
      case 'RedeemDeviceCode': {
        const { now, last_polled_at, key_id } = command.data;
        const device = requireOpen(state, now);
        if (device.status === 'denied') throw new DomainError('ACCESS_DENIED', 'the request was denied');
        if (device.status === 'approved') {
          return [{ type: 'DeviceAuthorizationCompleted', data: { device_id: device.device_id, key_id, completed_at: now } }];
        }
        // Pending: a client polling faster than its interval is told to slow down, and the interval grows.
        if (last_polled_at !== null && Date.parse(now) - Date.parse(last_polled_at) < device.interval * 1000) {
          return [{ type: 'DevicePollingSlowed', data: { device_id: device.device_id, interval: device.interval + SLOW_DOWN_STEP_SECONDS, at: now } }];
        }
        return [];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'DeviceAuthorizationRequested':
        return { status: 'pending', ...event.data };
      case 'DeviceAuthorizationApproved':
        return state.status === 'absent'
          ? state
          : {
              ...state,
              status: 'approved',
              org_id: event.data.org_id,
              environment: event.data.environment,
              agent_id: event.data.agent_id,
              scopes: event.data.scopes,
            };
      case 'DeviceAuthorizationDenied':
        return state.status === 'absent' ? state : { ...state, status: 'denied' };
      case 'DevicePollingSlowed':
        return state.status === 'absent' ? state : { ...state, interval: event.data.interval };
      case 'DeviceAuthorizationCompleted':
        return state.status === 'absent' ? state : { ...state, status: 'completed' };
      default:
        return assertNever(event);
    }
  },
};

/** The letters of RFC 8628's recommended user-code alphabet: no vowels, no look-alikes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** `ABCD-EFGH` from any casing, spacing or dashes a person types; null if it cannot be a user code. */
export function normalizeUserCode(input: string): string | null {
  const letters = input.toUpperCase().replace(/[\s-]/g, '');
  if (letters.length !== 8 || [...letters].some((c) => !USER_CODE_ALPHABET.includes(c))) return null;
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}
