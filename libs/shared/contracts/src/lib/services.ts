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
