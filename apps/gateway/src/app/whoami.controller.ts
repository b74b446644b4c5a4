import { Controller, Get } from '@nestjs/common';
import { effectiveRateLimits } from '@keyledger/contracts';
import { Auth, CurrentKey, KeyPrincipal } from '@keyledger/gateway-http';
import { agentView, apiKeyView, orgView } from '@keyledger/read-models';

@Controller('v1/whoami')
export class WhoamiController {
  /** Who the presented key is, answered from what the gateway authenticated it with. */
  @Get()
  @Auth.key()
  whoami(@CurrentKey() { key, org, agent }: KeyPrincipal) {
    const now = new Date();
    return {
      api_key: apiKeyView(key, now),
      org: orgView(org),
      agent: agent === null ? null : agentView(agent, now),
      scopes: key.scopes,
      environment: key.environment,
      rate_limits: effectiveRateLimits(org.plan, org.overrides),
    };
  }
}
