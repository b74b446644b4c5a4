/** Who asked, carried from the gateway into every command and from there into the events' metadata. */
export interface CommandMeta {
  request_id: string;
  actor_key_id: string | null;
  agent_id: string | null;
  ip: string | null;
  idempotency_key: string | null;
}

/** Every NATS request carries a schema version, so services can evolve without lockstep. */
export interface CommandMessage<T> {
  schema_version: 1;
  meta: CommandMeta;
  data: T;
}

export function commandMessage<T>(meta: CommandMeta, data: T): CommandMessage<T> {
  return { schema_version: 1, meta, data };
}

export interface PingReply {
  service: string;
  ok: true;
}
