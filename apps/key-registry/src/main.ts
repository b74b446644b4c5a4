import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { keysMigrations } from '@keyledger/keys-data-access';
import { KeysFeatureModule } from '@keyledger/keys-feature';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';

bootstrapMicroservice({ service: Services.keyRegistry, module: KeysFeatureModule, migrations: [keysMigrations] }).catch(
  exitOnStartupError(Services.keyRegistry),
);
