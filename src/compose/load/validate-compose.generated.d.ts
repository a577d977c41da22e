// Types of validate-compose.generated.js (written by scripts/gen-compose-validator.mjs).
import type { ErrorObject } from 'ajv';

/** The sha256 of the schema (schema-data.ts) the code was generated from. */
export const SCHEMA_SHA256: string;
export interface ComposeValidate {
  (doc: unknown): boolean;
  errors?: ErrorObject[] | null;
}
export const validate: ComposeValidate;
export default validate;
