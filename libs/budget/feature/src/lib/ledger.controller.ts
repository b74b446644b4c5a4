import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  BudgetSubjects,
  CommandMessage,
  CreateSpendRequest,
  DepositRequest,
  GetBudgetRequest,
  SetBudgetRequest,
  SpendTargetRequest,
} from '@keyledger/contracts';
import { LedgerService } from './ledger.service';

/** Budget-ledger commands over NATS: each handler hands the message to the ledger service. */
@Controller()
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @MessagePattern(BudgetSubjects.deposit)
  deposit(@Payload() m: CommandMessage<DepositRequest>) {
    return this.ledger.deposit(m.data, m.meta);
  }

  @MessagePattern(BudgetSubjects.setBudget)
  setBudget(@Payload() m: CommandMessage<SetBudgetRequest>) {
    return this.ledger.setBudget(m.data, m.meta);
  }

  @MessagePattern(BudgetSubjects.getBudget)
  getBudget(@Payload() m: CommandMessage<GetBudgetRequest>) {
    return this.ledger.getBudget(m.data);
  }

  @MessagePattern(BudgetSubjects.createSpend)
  createSpend(@Payload() m: CommandMessage<CreateSpendRequest>) {
    return this.ledger.createSpend(m.data, m.meta);
  }

  @MessagePattern(BudgetSubjects.captureSpend)
  captureSpend(@Payload() m: CommandMessage<SpendTargetRequest>) {
    return this.ledger.captureSpend(m.data, m.meta);
  }

  @MessagePattern(BudgetSubjects.releaseSpend)
  releaseSpend(@Payload() m: CommandMessage<SpendTargetRequest>) {
    return this.ledger.releaseSpend(m.data, m.meta);
  }

  @MessagePattern(BudgetSubjects.refundSpend)
  refundSpend(@Payload() m: CommandMessage<SpendTargetRequest>) {
    return this.ledger.refundSpend(m.data, m.meta);
  }
}
