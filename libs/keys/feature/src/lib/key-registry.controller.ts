import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CommandMessage, CreateOrgReply, CreateOrgRequest, Subjects } from '@keyledger/contracts';
import { KeyRegistryService } from './key-registry.service';

@Controller()
export class KeyRegistryController {
  constructor(private readonly keys: KeyRegistryService) {}

  @MessagePattern(Subjects.keys.createOrg)
  createOrg(@Payload() message: CommandMessage<CreateOrgRequest>): Promise<CreateOrgReply> {
    return this.keys.createOrg(message.data, message.meta);
  }
}
