import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readConfig } from '@keyledger/config';
import { CommandMeta, DeviceAuthorizationView, RedeemDeviceReply, Subjects } from '@keyledger/contracts';
import { Auth, callerOf, CurrentKey, KeyPrincipal, RateLimited, RequestMeta, Schemas, ServiceClients, ZodPipe } from '@keyledger/gateway-http';

export const DeviceRequestBody = z.strictObject({ agent_name: z.string().trim().min(1).max(200), scopes: Schemas.scopes.optional() });
export const DeviceApproveBody = z.strictObject({ user_code: z.string().min(1).max(32), agent_id: Schemas.id('agt').optional() });
export const DeviceDenyBody = z.strictObject({ user_code: z.string().min(1).max(32) });
export const DeviceTokenBody = z.strictObject({ device_code: z.string().min(1).max(256) });

/** RFC 8628 device authorization with JSON bodies. */
@Controller('v1/auth/device')
export class DeviceController {
  private readonly publicUrl = readConfig(['KEYLEDGER_PUBLIC_URL']).KEYLEDGER_PUBLIC_URL;

  constructor(private readonly services: ServiceClients) {}

  @Post()
  @HttpCode(200)
  @Auth.none()
  @RateLimited({ perClientIp: true })
  request(
    @Body(new ZodPipe(DeviceRequestBody)) body: z.infer<typeof DeviceRequestBody>,
    @Req() request: FastifyRequest,
    @RequestMeta() meta: CommandMeta,
  ): Promise<DeviceAuthorizationView> {
    const base = (this.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');
    return this.services.keyRegistry.send(Subjects.keys.requestDevice, { ...body, verification_uri: `${base}/dashboard/device` }, meta);
  }

  @Post('approve')
  @HttpCode(200)
  @Auth.key('agents:write')
  approve(@Body(new ZodPipe(DeviceApproveBody)) body: z.infer<typeof DeviceApproveBody>, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta) {
    return this.services.keyRegistry.send(Subjects.keys.approveDevice, { ...body, caller: callerOf(principal) }, meta);
  }

  @Post('deny')
  @HttpCode(200)
  @Auth.key('agents:write')
  deny(@Body(new ZodPipe(DeviceDenyBody)) body: z.infer<typeof DeviceDenyBody>, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta) {
    return this.services.keyRegistry.send(Subjects.keys.denyDevice, { ...body, caller: callerOf(principal) }, meta);
  }

  @Post('token')
  @HttpCode(200)
  @Auth.none()
  @RateLimited({ perClientIp: true, keyCreation: true })
  token(@Body(new ZodPipe(DeviceTokenBody)) body: z.infer<typeof DeviceTokenBody>, @RequestMeta() meta: CommandMeta): Promise<RedeemDeviceReply> {
    return this.services.keyRegistry.send(Subjects.keys.redeemDevice, body, meta);
  }
}
