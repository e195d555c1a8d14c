/** Typed decode errors: values, never exceptions. `message` names the APF message being decoded. */
import type * as t from 'io-ts';
export type ApfDecodeError =
  | {
      readonly kind: 'truncated';
      readonly message: string;
      readonly field: string;
      readonly offset: number;
      readonly needed: number;
      readonly available: number;
    }
  | { readonly kind: 'unknown-type'; readonly code: number }
  | { readonly kind: 'trailing-bytes'; readonly message: string; readonly expected: number; readonly actual: number }
  | { readonly kind: 'out-of-range'; readonly message: string; readonly field: string; readonly value: number; readonly limit: string };

/** A sentence for a decode error, for logs and protocol-error events. */
export const describeDecodeError = (e: ApfDecodeError): string => {
  switch (e.kind) {
    case 'truncated':
      return `${e.message}: truncated at ${e.field} (offset ${e.offset}: needs ${e.needed} bytes, ${e.available} left)`;
    case 'unknown-type':
      return `unknown APF message type ${e.code}`;
    case 'trailing-bytes':
      return `${e.message}: ${e.actual - e.expected} trailing bytes (message is ${e.expected} bytes, got ${e.actual})`;
    case 'out-of-range':
      return `${e.message}: ${e.field} = ${e.value} is out of range (${e.limit})`;
  }
};

/** io-ts's errors as one line a person reads: each field's path, its value and what it should be. */
export const describeValidationErrors = (errors: t.Errors): string =>
  errors
    .map((e) => {
      const path = e.context
        .map((c) => c.key)
        .filter(Boolean)
        .join('.');
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `${path || '(root)'}: ${JSON.stringify(e.value)} is not ${expected}`;
    })
    .join('; ');
