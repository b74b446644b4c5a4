/** The backend services; each name is also its NATS queue group, so instances share the load. */
export const Services = {
  keyRegistry: 'key-registry',
  rateLimiter: 'rate-limiter',
  budgetLedger: 'budget-ledger',
  auditAttestation: 'audit-attestation',
} as const;
export type ServiceName = (typeof Services)[keyof typeof Services];

/** Request/reply subjects, one place for all of them. */
export const Subjects = {
  keys: {
    ping: 'keys.ping',
    createOrg: 'keys.orgs.create',
    createKey: 'keys.keys.create',
    createSelfServeKey: 'keys.keys.self-serve',
    linkKey: 'keys.keys.link',
    updateKey: 'keys.keys.update',
    revokeKey: 'keys.keys.revoke',
    rollKey: 'keys.keys.roll',
    createAgent: 'keys.agents.create',
    updateAgent: 'keys.agents.update',
    pauseAgent: 'keys.agents.pause',
    resumeAgent: 'keys.agents.resume',
    revokeAgent: 'keys.agents.revoke',
    requestDevice: 'keys.device.request',
    approveDevice: 'keys.device.approve',
    denyDevice: 'keys.device.deny',
    redeemDevice: 'keys.device.token',
    recordKeyUsage: 'keys.usage',
  },
  rateLimit: {
    ping: 'ratelimit.ping',
  },
  budget: {
    ping: 'budget.ping',
  },
  audit: {
    ping: 'audit.ping',
  },
} as const;

export const PING_SUBJECT: Record<ServiceName, string> = {
  'key-registry': Subjects.keys.ping,
  'rate-limiter': Subjects.rateLimit.ping,
  'budget-ledger': Subjects.budget.ping,
  'audit-attestation': Subjects.audit.ping,
};

/** Event notifications published by the outbox relay: `events.<category>.<type>`. */
export const EventSubjects = {
  all: 'events.>',
  keys: 'events.key.>',
  agents: 'events.agent.>',
  orgs: 'events.org.>',
} as const;
