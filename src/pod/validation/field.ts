/**
 * The messages of apimachinery's field.Error types (pkg/util/validation/field/errors.go), so a
 * violation reads as the API server would report it: `Invalid value: "Foo": <why>`.
 */

/** One finding of a rule; `field` overrides the matched path (upstream reports some on a child or parent). */
export interface Finding {
  message: string;
  field?: string;
}

const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value)));

export const invalid = (value: unknown, detail: string, field?: string): Finding => ({ message: `Invalid value: ${show(value)}: ${detail}`, field });
export const required = (detail = '', field?: string): Finding => ({ message: detail ? `Required value: ${detail}` : 'Required value', field });
export const duplicate = (value: unknown, field?: string): Finding => ({ message: `Duplicate value: ${show(value)}`, field });
export const notFound = (value: unknown, field?: string): Finding => ({ message: `Not found: ${show(value)}`, field });
export const forbidden = (detail: string, field?: string): Finding => ({ message: `Forbidden: ${detail}`, field });
export const tooLong = (max: number, field?: string): Finding => ({ message: `Too long: may not be more than ${max} bytes`, field });
export const notSupported = (value: unknown, supported: readonly string[], field?: string): Finding => ({
  message: `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  field,
});

/** Each message of an apimachinery check as an Invalid finding. */
export const invalidEach = (value: unknown, messages: readonly string[], field?: string): Finding[] => messages.map((m) => invalid(value, m, field));
