// The value a record type's generation rule would give the next new user (Settings → Identifiers
// shows it beside each rule): generateValues' dry run, which reads the counter without moving it,
// locks nothing and skips values someone holds, as the real draw does. Read with the permission
// that reads the rules (config:manage). It is a forecast: a user created meanwhile takes it, and
// a record that brings the value itself gets the one after.
import type { Queryable } from '../../db/database.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { AppError } from '../../errors.js';
import { RECORD_TYPES, type RecordType } from '../../model/user.js';
import { authorize, type Actor } from '../access/actor.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import { generatedIdType, generateValues, generationRule, PRIMARY_ID_TYPE } from './identifier-generation.js';
import { uniquenessOf } from './write-users.js';

export interface NextIdentifier {
  recordType: RecordType;
  /** The code table's spelling of the rule's type, or PRIMARY_ID. */
  identifierType: string;
  value: string;
}

export function createIdentifierPreview(deps: { db: Queryable; codeTables: CodeTableCache }) {
  return {
    async next(actor: Actor, institutionId: string, recordType: string): Promise<NextIdentifier> {
      authorize(actor, 'config:manage', institutionId);
      const type = recordType.toUpperCase() as RecordType;
      if (!RECORD_TYPES.includes(type)) {
        throw new AppError('INVALID_VALUE', { field: 'record_type', value: recordType.slice(0, 64), reason: `use one of ${RECORD_TYPES.join(', ')}` });
      }
      const institution = await findInstitutionById(deps.db, institutionId);
      if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
      const rule = generationRule(institution, type);
      if (!rule) throw new AppError('NOT_FOUND', { entity: 'Identifier generation rule for record type', id: type });
      // A rule whose type the code table no longer allows for the record type is refused as a create would refuse it.
      const identifierType =
        rule.identifierType.toUpperCase() === PRIMARY_ID_TYPE ? PRIMARY_ID_TYPE : generatedIdType(await deps.codeTables.forInstitution(institutionId), rule, type);
      const [value] = await generateValues(deps.db, await uniquenessOf(deps.db, institution), rule, 1, { dryRun: true });
      return { recordType: type, identifierType, value: value! };
    },
  };
}

export type IdentifierPreview = ReturnType<typeof createIdentifierPreview>;
