import 'reflect-metadata';
import { bootstrapGateway } from '@keyledger/gateway-http';
import { exitOnStartupError } from '@keyledger/nest';
import { AppModule } from './app/app.module';

bootstrapGateway(AppModule).catch(exitOnStartupError('gateway'));
