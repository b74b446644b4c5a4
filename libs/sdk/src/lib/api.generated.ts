// Generated from the gateway’s OpenAPI document (GET /openapi.json) by `npm run sdk:types`. Do not edit:
// apps/gateway/src/app/sdk-types.spec.ts fails when this file and the document differ.
/* eslint-disable */

/** Every operation of the API: its query, request body and the `data` of its success envelope. */
export interface ApiOperations {
  /** GET /healthz */
  getHealthz: {
    data: {
      status: "ok";
    };
  };
  /** GET /readyz */
  getReadyz: {
    data: {
      status: "ready";
      checks: {
        [key: string]: {
          ok: boolean;
          [key: string]: unknown;
        };
      };
    };
  };
  /** GET /metrics */
  getMetrics: {
  };
  /** GET /openapi.json */
  getOpenapiJson: {
  };
  /** GET /docs */
  getDocs: {
  };
  /** GET /docs/assets/{file} */
  getDocsAssetsByFile: {
  };
  /** POST /v1/orgs */
  postV1Orgs: {
    query: {
      environment?: "live" | "test";
    };
    body: {
      name: string;
      plan?: "starter" | "growth" | "business" | "enterprise";
    };
    data: {
      org: {
        id: string;
        name: string;
        plan: "starter" | "growth" | "business" | "enterprise" | null;
      };
      api_key: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
        key: string;
        signing_secret?: string;
      };
    };
  };
  /** PUT /v1/orgs/{org_id}/plan */
  putV1OrgsByOrgIdPlan: {
    body: {
      plan: "starter" | "growth" | "business" | "enterprise" | null;
      overrides?: {
        read?: {
          per_minute?: number;
          burst?: number;
        };
        write?: {
          per_minute?: number;
          burst?: number;
        };
        key_create?: {
          per_minute?: number;
          burst?: number;
        };
        per_hour?: number | null;
      } | null;
    };
    data: {
      id: string;
      name: string;
      plan: "starter" | "growth" | "business" | "enterprise" | null;
      overrides: {
        [key: string]: unknown;
      } | null;
    };
  };
  /** GET /v1/whoami */
  getV1Whoami: {
    data: {
      api_key: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
      };
      org: {
        id: string;
        name: string;
        plan: "starter" | "growth" | "business" | "enterprise" | null;
      };
      agent: {
        id: string;
        name: string;
        environment: "live" | "test";
        status: "active" | "paused" | "revoked";
        paused_until: string | null;
        metadata: {
          [key: string]: unknown;
        };
        created_at: string;
      } | null;
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      environment: "live" | "test";
      rate_limits: {
        [key: string]: unknown;
      };
    };
  };
  /** POST /v1/api-keys */
  postV1ApiKeys: {
    body: {
      name?: string | null;
      environment?: "live" | "test";
      scopes?: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id?: string | null;
      expires_at?: string | null;
      signing?: boolean;
      key?: string;
    };
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
      key: string;
      signing_secret?: string;
    };
  };
  /** GET /v1/api-keys */
  getV1ApiKeys: {
    query: {
      limit?: number;
      cursor?: string;
      status?: "active" | "expired" | "revoked";
      agent_id?: string;
    };
    data: {
      items: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
      }[];
      next_cursor: string | null;
    };
  };
  /** POST /v1/api-keys/link */
  postV1ApiKeysLink: {
    body: {
      key: string;
    };
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
    };
  };
  /** GET /v1/api-keys/{id} */
  getV1ApiKeysById: {
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
    };
  };
  /** PATCH /v1/api-keys/{id} */
  patchV1ApiKeysById: {
    body: {
      name?: string | null;
      scopes?: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      expires_at?: string | null;
    };
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
    };
  };
  /** DELETE /v1/api-keys/{id} */
  deleteV1ApiKeysById: {
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
    };
  };
  /** POST /v1/api-keys/{id}/revoke */
  postV1ApiKeysByIdRevoke: {
    data: {
      id: string;
      name: string | null;
      key_prefix: string;
      last4: string;
      environment: "live" | "test";
      scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
      agent_id: string | null;
      status: "active" | "expired" | "revoked";
      claimed: boolean;
      signing: boolean;
      created_at: string;
      expires_at: string | null;
      last_used_at: string | null;
    };
  };
  /** POST /v1/api-keys/{id}/roll */
  postV1ApiKeysByIdRoll: {
    body: {
      grace_period_seconds?: number;
    };
    data: {
      api_key: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
        key: string;
        signing_secret?: string;
      };
      previous: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
      };
    };
  };
  /** POST /v1/agents */
  postV1Agents: {
    body: {
      name: string;
      metadata?: {
        [key: string]: unknown;
      };
    };
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** GET /v1/agents */
  getV1Agents: {
    query: {
      limit?: number;
      cursor?: string;
    };
    data: {
      items: {
        id: string;
        name: string;
        environment: "live" | "test";
        status: "active" | "paused" | "revoked";
        paused_until: string | null;
        metadata: {
          [key: string]: unknown;
        };
        created_at: string;
      }[];
      next_cursor: string | null;
    };
  };
  /** GET /v1/agents/{id} */
  getV1AgentsById: {
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** PATCH /v1/agents/{id} */
  patchV1AgentsById: {
    body: {
      name?: string;
      metadata?: {
        [key: string]: unknown;
      };
    };
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** POST /v1/agents/{id}/pause */
  postV1AgentsByIdPause: {
    body: {
      duration: "15m" | "30m" | "1h" | "4h" | "indefinite";
    };
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** POST /v1/agents/{id}/resume */
  postV1AgentsByIdResume: {
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** POST /v1/agents/{id}/revoke */
  postV1AgentsByIdRevoke: {
    data: {
      id: string;
      name: string;
      environment: "live" | "test";
      status: "active" | "paused" | "revoked";
      paused_until: string | null;
      metadata: {
        [key: string]: unknown;
      };
      created_at: string;
    };
  };
  /** POST /v1/auth/device */
  postV1AuthDevice: {
    body: {
      agent_name: string;
      scopes?: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
    };
    data: {
      device_code: string;
      user_code: string;
      verification_uri: string;
      verification_uri_complete: string;
      expires_in: number;
      interval: number;
    };
  };
  /** POST /v1/auth/device/approve */
  postV1AuthDeviceApprove: {
    body: {
      user_code: string;
      agent_id?: string;
    };
    data: {
      agent: {
        id: string;
        name: string;
        environment: "live" | "test";
        status: "active" | "paused" | "revoked";
        paused_until: string | null;
        metadata: {
          [key: string]: unknown;
        };
        created_at: string;
      };
    };
  };
  /** POST /v1/auth/device/deny */
  postV1AuthDeviceDeny: {
    body: {
      user_code: string;
    };
    data: {
      denied: true;
    };
  };
  /** POST /v1/auth/device/token */
  postV1AuthDeviceToken: {
    body: {
      device_code: string;
    };
    data: {
      api_key: {
        id: string;
        name: string | null;
        key_prefix: string;
        last4: string;
        environment: "live" | "test";
        scopes: ("keys:read" | "keys:write" | "agents:read" | "agents:write" | "spend:read" | "spend:write" | "wallet:read" | "wallet:write" | "audit:read" | "*")[];
        agent_id: string | null;
        status: "active" | "expired" | "revoked";
        claimed: boolean;
        signing: boolean;
        created_at: string;
        expires_at: string | null;
        last_used_at: string | null;
        key: string;
        signing_secret?: string;
      };
      agent: {
        id: string;
        name: string;
        environment: "live" | "test";
        status: "active" | "paused" | "revoked";
        paused_until: string | null;
        metadata: {
          [key: string]: unknown;
        };
        created_at: string;
      };
    };
  };
  /** GET /v1/wallet */
  getV1Wallet: {
    data: {
      balances: {
        currency: string;
        available: number;
        held: number;
      }[];
    };
  };
  /** POST /v1/wallet/deposits */
  postV1WalletDeposits: {
    body: {
      amount: number;
      currency: string;
    };
    data: {
      balance: {
        currency: string;
        available: number;
        held: number;
      };
    };
  };
  /** PUT /v1/agents/{id}/budget */
  putV1AgentsByIdBudget: {
    body: {
      currency: string;
      fixed_limit?: number | null;
      budget_percent?: number | null;
      max_position_value?: number | null;
      limits?: {
        interval: "per_transaction" | "daily" | "weekly" | "monthly" | "all_time";
        amount: number;
      }[];
      require_attestation?: boolean;
    };
    data: {
      agent_id: string;
      currency: string | null;
      remaining: number;
      limiting_factor: "fixed_limit" | "budget_percent" | "max_position_value" | "per_transaction" | "daily" | "weekly" | "monthly" | "all_time" | "wallet" | "no_budget" | null;
      components: {
        [key: string]: {
          limit: number;
          used: number;
          remaining: number;
        };
      };
      spent: number;
      held: number;
      wallet_available: number;
      policy: {
        agent_id: string;
        currency: string;
        fixed_limit: number | null;
        budget_percent: number | null;
        max_position_value: number | null;
        limits: {
          interval: string;
          amount: number;
        }[];
        require_attestation: boolean;
        updated_at: string;
      } | null;
    };
  };
  /** GET /v1/agents/{id}/budget */
  getV1AgentsByIdBudget: {
    data: {
      agent_id: string;
      currency: string | null;
      remaining: number;
      limiting_factor: "fixed_limit" | "budget_percent" | "max_position_value" | "per_transaction" | "daily" | "weekly" | "monthly" | "all_time" | "wallet" | "no_budget" | null;
      components: {
        [key: string]: {
          limit: number;
          used: number;
          remaining: number;
        };
      };
      spent: number;
      held: number;
      wallet_available: number;
      policy: {
        agent_id: string;
        currency: string;
        fixed_limit: number | null;
        budget_percent: number | null;
        max_position_value: number | null;
        limits: {
          interval: string;
          amount: number;
        }[];
        require_attestation: boolean;
        updated_at: string;
      } | null;
    };
  };
  /** GET /v1/budget */
  getV1Budget: {
    data: {
      agent_id: string;
      currency: string | null;
      remaining: number;
      limiting_factor: "fixed_limit" | "budget_percent" | "max_position_value" | "per_transaction" | "daily" | "weekly" | "monthly" | "all_time" | "wallet" | "no_budget" | null;
      components: {
        [key: string]: {
          limit: number;
          used: number;
          remaining: number;
        };
      };
      spent: number;
      held: number;
      wallet_available: number;
      policy: {
        agent_id: string;
        currency: string;
        fixed_limit: number | null;
        budget_percent: number | null;
        max_position_value: number | null;
        limits: {
          interval: string;
          amount: number;
        }[];
        require_attestation: boolean;
        updated_at: string;
      } | null;
    };
  };
  /** POST /v1/spends */
  postV1Spends: {
    body: {
      agent_id?: string;
      amount: number;
      currency: string;
      merchant?: string;
      description?: string;
      capture?: boolean;
      attestation?: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      };
      attestation_id?: string;
    };
    data: {
      id: string;
      agent_id: string;
      amount: number;
      captured_amount: number;
      refunded_amount: number;
      currency: string;
      status: "authorized" | "captured" | "released" | "refunded" | "expired";
      merchant: string | null;
      description: string | null;
      attestation_id: string | null;
      attestation: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      } | null;
      created_at: string;
      expires_at: string | null;
    };
  };
  /** GET /v1/spends */
  getV1Spends: {
    query: {
      limit?: number;
      cursor?: string;
      agent_id?: string;
      status?: "authorized" | "captured" | "released" | "refunded" | "expired";
    };
    data: {
      items: {
        id: string;
        agent_id: string;
        amount: number;
        captured_amount: number;
        refunded_amount: number;
        currency: string;
        status: "authorized" | "captured" | "released" | "refunded" | "expired";
        merchant: string | null;
        description: string | null;
        attestation_id: string | null;
        attestation: {
          purpose: string;
          expected_amount?: number;
          merchant?: string;
          claims?: {
            [key: string]: unknown;
          };
        } | null;
        created_at: string;
        expires_at: string | null;
      }[];
      next_cursor: string | null;
    };
  };
  /** GET /v1/spends/{id} */
  getV1SpendsById: {
    data: {
      id: string;
      agent_id: string;
      amount: number;
      captured_amount: number;
      refunded_amount: number;
      currency: string;
      status: "authorized" | "captured" | "released" | "refunded" | "expired";
      merchant: string | null;
      description: string | null;
      attestation_id: string | null;
      attestation: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      } | null;
      created_at: string;
      expires_at: string | null;
    };
  };
  /** POST /v1/spends/{id}/capture */
  postV1SpendsByIdCapture: {
    body: {
      amount?: number;
    };
    data: {
      id: string;
      agent_id: string;
      amount: number;
      captured_amount: number;
      refunded_amount: number;
      currency: string;
      status: "authorized" | "captured" | "released" | "refunded" | "expired";
      merchant: string | null;
      description: string | null;
      attestation_id: string | null;
      attestation: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      } | null;
      created_at: string;
      expires_at: string | null;
    };
  };
  /** POST /v1/spends/{id}/release */
  postV1SpendsByIdRelease: {
    body: Record<string, never>;
    data: {
      id: string;
      agent_id: string;
      amount: number;
      captured_amount: number;
      refunded_amount: number;
      currency: string;
      status: "authorized" | "captured" | "released" | "refunded" | "expired";
      merchant: string | null;
      description: string | null;
      attestation_id: string | null;
      attestation: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      } | null;
      created_at: string;
      expires_at: string | null;
    };
  };
  /** POST /v1/spends/{id}/refund */
  postV1SpendsByIdRefund: {
    body: {
      amount?: number;
    };
    data: {
      id: string;
      agent_id: string;
      amount: number;
      captured_amount: number;
      refunded_amount: number;
      currency: string;
      status: "authorized" | "captured" | "released" | "refunded" | "expired";
      merchant: string | null;
      description: string | null;
      attestation_id: string | null;
      attestation: {
        purpose: string;
        expected_amount?: number;
        merchant?: string;
        claims?: {
          [key: string]: unknown;
        };
      } | null;
      created_at: string;
      expires_at: string | null;
    };
  };
  /** POST /v1/attestations */
  postV1Attestations: {
    body: {
      agent_id?: string;
      statement: {
        [key: string]: unknown;
      };
      spend_id?: string;
    };
    data: {
      id: string;
      agent_id: string;
      spend_id: string | null;
      statement: {
        [key: string]: unknown;
      };
      mismatches: {
        field: string;
        claimed: unknown;
        actual: unknown;
      }[];
      hash: string | null;
      position: number;
      created_at: string;
    };
  };
  /** GET /v1/attestations */
  getV1Attestations: {
    query: {
      limit?: number;
      cursor?: string;
      agent_id?: string;
    };
    data: {
      items: {
        id: string;
        agent_id: string;
        spend_id: string | null;
        statement: {
          [key: string]: unknown;
        };
        mismatches: {
          field: string;
          claimed: unknown;
          actual: unknown;
        }[];
        hash: string | null;
        position: number;
        created_at: string;
      }[];
      next_cursor: string | null;
    };
  };
  /** GET /v1/audit/public-key */
  getV1AuditPublicKey: {
    data: {
      algorithm: "Ed25519";
      public_key: string;
      public_key_pem: string;
    };
  };
  /** GET /v1/audit/events */
  getV1AuditEvents: {
    query: {
      after?: number;
      cursor?: number;
      limit?: number;
      type?: string;
      agent_id?: string;
    };
    data: {
      items: {
        position: number;
        stream: string;
        stream_version: number;
        type: string;
        data: unknown;
        metadata: unknown;
        recorded_at: string;
        hash: string | null;
        prev_hash: string | null;
      }[];
      next_cursor: string | null;
    };
  };
  /** GET /v1/audit/verify */
  getV1AuditVerify: {
    data: {
      ok: true;
      events_verified: number;
      events_pending: number;
      head: {
        position: number;
        hash: string;
      } | null;
      checkpoint: {
        position: number;
        root: string;
        signature: string;
        public_key: string;
        signed_at: string;
      } | null;
    } | {
      ok: false;
      first_bad_position: number;
      reason: "altered" | "removed" | "inserted" | "reordered" | "bad_signature";
      detail: string;
      events_verified: number;
    };
  };
  /** GET /v1/audit/export */
  getV1AuditExport: {
    query: {
      after?: number;
      type?: string;
      agent_id?: string;
    };
  };
}
