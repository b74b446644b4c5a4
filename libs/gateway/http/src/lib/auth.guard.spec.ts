import type { FastifyRequest } from 'fastify';
import { presentedKey } from './auth.guard';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest;

describe('presentedKey', () => {
  it('reads X-Api-Key, Api-Key and Authorization: Bearer, in that order of preference', () => {
    expect(presentedKey(request({ 'x-api-key': 'a', 'api-key': 'b', authorization: 'Bearer c' }))).toBe('a');
    expect(presentedKey(request({ 'api-key': 'b', authorization: 'Bearer c' }))).toBe('b');
    expect(presentedKey(request({ authorization: 'Bearer c' }))).toBe('c');
    expect(presentedKey(request({ authorization: 'bearer   c ' }))).toBe('c');
  });

  it('finds no key in an empty header or another auth scheme', () => {
    expect(presentedKey(request({}))).toBeNull();
    expect(presentedKey(request({ 'x-api-key': '' }))).toBeNull();
    expect(presentedKey(request({ authorization: 'Basic abc' }))).toBeNull();
    expect(presentedKey(request({ authorization: 'Bearer ' }))).toBeNull();
  });
});
