import type { ApiOperations as Api } from './api.generated';
import type {
  Agent,
  ApiKey,
  Balance,
  Budget,
  CreatedApiKey,
  CreateKeyParams,
  CreateSpendParams,
  DeviceAuthorization,
  Org,
  Page,
  SetBudgetParams,
  Spend,
  Wallet,
  Whoami,
} from './types';

/**
 * The SDK's types against those generated from the gateway's OpenAPI document (api.generated.ts,
 * kept current by apps/gateway/src/app/sdk-types.spec.ts). Each line is checked when this file
 * compiles: a field added, removed, renamed, made optional or retyped on either side fails the
 * test run with a type error naming the line.
 */
type Same<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
const check = <Verdict extends true>(): Verdict => true as Verdict;

export const responseTypes = [
  check<Same<Org, Api['postV1Orgs']['data']['org']>>(),
  check<Same<CreatedApiKey, Api['postV1ApiKeys']['data']>>(),
  check<Same<{ org: Org; api_key: CreatedApiKey }, Api['postV1Orgs']['data']>>(),
  check<Same<ApiKey, Api['getV1ApiKeysById']['data']>>(),
  check<Same<Page<ApiKey>, Api['getV1ApiKeys']['data']>>(),
  check<Same<{ api_key: CreatedApiKey; previous: ApiKey }, Api['postV1ApiKeysByIdRoll']['data']>>(),
  check<Same<Agent, Api['getV1AgentsById']['data']>>(),
  check<Same<Page<Agent>, Api['getV1Agents']['data']>>(),
  check<Same<Whoami, Api['getV1Whoami']['data']>>(),
  check<Same<DeviceAuthorization, Api['postV1AuthDevice']['data']>>(),
  check<Same<{ api_key: CreatedApiKey; agent: Agent }, Api['postV1AuthDeviceToken']['data']>>(),
  check<Same<Wallet, Api['getV1Wallet']['data']>>(),
  check<Same<{ balance: Balance }, Api['postV1WalletDeposits']['data']>>(),
  check<Same<Budget, Api['getV1AgentsByIdBudget']['data']>>(),
  check<Same<Budget, Api['putV1AgentsByIdBudget']['data']>>(),
  check<Same<Spend, Api['postV1Spends']['data']>>(),
  check<Same<Spend, Api['postV1SpendsByIdCapture']['data']>>(),
  check<Same<Page<Spend>, Api['getV1Spends']['data']>>(),
];

export const requestTypes = [
  check<Same<Required<CreateKeyParams>, Required<Api['postV1ApiKeys']['body']>>>(),
  check<Same<SetBudgetParams, Api['putV1AgentsByIdBudget']['body']>>(),
  check<Same<CreateSpendParams, Api['postV1Spends']['body']>>(),
];

describe('SDK types', () => {
  it('match the OpenAPI document (checked when this file compiles)', () => {
    expect(responseTypes.every(Boolean)).toBe(true);
    expect(requestTypes.every(Boolean)).toBe(true);
  });
});
