import { Controller, Get } from '@nestjs/common';
import { planRateLimits } from '@keyledger/contracts';
import { ApiError, Auth, CurrentPrincipal, Principal } from '@keyledger/gateway-http';
import { apiKeyView, orgView } from '@keyledger/read-models';

@Controller('v1/whoami')
export class WhoamiController {
  /** Who the presented key is, answered from the read model the gateway authenticated against. */
  @Get()
  @Auth.key()
  whoami(@CurrentPrincipal() principal: Principal) {
    if (principal.kind !== 'key') throw new ApiError('UNAUTHORIZED', 'an API key is required');
    const { key, org } = principal;
    return {
      api_key: apiKeyView(key, new Date()),
      org: orgView(org),
      agent: null,
      scopes: key.scopes,
      environment: key.environment,
      rate_limits: planRateLimits(org.plan),
    };
  }
}
