import { Module } from '@nestjs/common';
import { GatewayCoreModule } from '@keyledger/gateway-http';
import { OrgsController } from './orgs.controller';
import { WhoamiController } from './whoami.controller';

@Module({
  imports: [GatewayCoreModule],
  controllers: [OrgsController, WhoamiController],
})
export class AppModule {}
