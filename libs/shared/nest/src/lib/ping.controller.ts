import { Controller, Type } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { PING_SUBJECT, PingReply, ServiceName } from '@keyledger/contracts';

/** The liveness request the gateway's /readyz sends to each service. */
export function pingController(service: ServiceName): Type<unknown> {
  @Controller()
  class PingController {
    @MessagePattern(PING_SUBJECT[service])
    ping(): PingReply {
      return { service, ok: true };
    }
  }
  return PingController;
}
