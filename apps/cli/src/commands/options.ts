import { InvalidArgumentError } from 'commander';

/** A commander option parser for a whole number, 0 or more, exact in JavaScript; `what` names its unit in the error. */
export function wholeNumber(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number of ${what}`);
    return n;
  };
}
