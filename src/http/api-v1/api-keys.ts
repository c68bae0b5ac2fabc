// /api/v1/api-keys: the institution's API keys. A listing never holds a key or its hash; the key
// itself is in the answer of create and rotate only, once. Rotation and revocation stop the old
// secret at once on every server (domain/access/api-keys.ts). Permission config:manage (General
// System Administrator, a read-write key); another institution's key is not found.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import type { ApiKeyListing } from '../../db/queries/api-keys.js';
import { callerInstitution } from './auth.js';

const TAGS = ['API keys'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: "The key's id (or its prefix)" }) });
const Label = Type.Union([Type.String({ maxLength: 1000 }), Type.Null()], { description: 'What the key is for (up to 200 characters)' });
const CreateBody = Type.Object(
  {
    label: Type.Optional(Label),
    read_only: Type.Optional(Type.Boolean()),
    trusts_client_address: Type.Optional(Type.Boolean({ description: "op=auth may name the end user's address (X-Carrel-Client-Address)" })),
  },
  { additionalProperties: false },
);
const LabelBody = Type.Object({ label: Label }, { additionalProperties: false });

const at = (d: Date | null) => (d ? d.toISOString() : null);

export function apiKeyToJson(k: ApiKeyListing) {
  return {
    id: k.id,
    prefix: k.prefix,
    label: k.label,
    read_only: k.readOnly,
    trusts_client_address: k.trustsClientAddress,
    created_at: at(k.createdAt),
    last_used_at: at(k.lastUsedAt),
    rotated_at: at(k.rotatedAt),
    revoked_at: at(k.revokedAt),
  };
}

export function apiKeyRoutes(app: App): FastifyPluginAsyncTypebox {
  const { apiKeys } = app.services;
  return async (server) => {
    server.get('/api-keys', { schema: { summary: "List the institution's API keys (never a key or its hash)", tags: TAGS } }, async (req) => ({
      api_key: (await apiKeys.listFor(req.actor!, callerInstitution(req))).map(apiKeyToJson),
    }));

    server.post('/api-keys', { schema: { summary: 'Create an API key; the key is in this answer only', tags: TAGS, body: CreateBody } }, async (req, reply) => {
      const { key, listing } = await apiKeys.createFor(req.actor!, callerInstitution(req), {
        label: req.body.label ?? null,
        readOnly: req.body.read_only === true,
        trustClientAddress: req.body.trusts_client_address === true,
      });
      return reply.status(201).header('cache-control', 'no-store').send({ ...apiKeyToJson(listing), key });
    });

    server.patch('/api-keys/:id', { schema: { summary: "Change a key's label", tags: TAGS, params: IdParams, body: LabelBody } }, async (req) =>
      apiKeyToJson(await apiKeys.labelFor(req.actor!, callerInstitution(req), req.params.id, req.body.label)),
    );

    server.post(
      '/api-keys/:id/rotate',
      { schema: { summary: 'A new secret for the key; the old one stops at once. The key is in this answer only', tags: TAGS, params: IdParams } },
      async (req, reply) => {
        const { key, listing } = await apiKeys.rotateFor(req.actor!, callerInstitution(req), req.params.id);
        return reply.header('cache-control', 'no-store').send({ ...apiKeyToJson(listing), key });
      },
    );

    server.delete('/api-keys/:id', { schema: { summary: 'Revoke a key; every server refuses it from then on', tags: TAGS, params: IdParams } }, async (req, reply) => {
      await apiKeys.revokeFor(req.actor!, callerInstitution(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
