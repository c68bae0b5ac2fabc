// /api/v1/institution/settings and /api/v1/network/settings: the caller's institution's settings
// and its network's, read and changed as JSON merge patches in snake_case (GET's answer is a
// valid PATCH body). Reading and changing the institution's: config:manage there; the network's:
// reading, config:manage at any member; changing, config:manage at the network zone. Every field
// is checked by the domain (domain/institutions/settings-rules.ts), which names the field as
// sent; a refused PATCH changes nothing. The next value of an identifier generation rule is read
// (not taken) at …/identifier-generation/preview.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Settings'];
const Patch = Type.Record(Type.String(), Type.Unknown(), { description: 'The settings to change, as GET shows them; null clears' });

const snake = (key: string) => (/^[a-z]/.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key);
/** A setting's path in the domain (identifierGeneration.PUBLIC.padding) as the wire spells it. */
const wirePath = (path: string) => path.split('.').map(snake).join('.');

/** The domain's camelCase settings on the wire: keys in snake_case, record-type keys (PUBLIC) as they are. */
function toWire(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), toWire(v)]));
}

/** A PATCH body in the domain's names; a key in neither spelling is refused, naming it. */
function fromWire(value: unknown, path: string[] = []): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      let key = k;
      if (/^[a-z][a-z0-9_]*$/.test(k)) key = k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      else if (!/^[A-Z][A-Z0-9_]*$/.test(k)) {
        throw new AppError('SETTING_INVALID', { field: [...path, k].join('.').slice(0, 200), reason: 'not a setting (names are snake_case, as GET shows them)' });
      }
      return [key, fromWire(v, [...path, k])];
    }),
  );
}

export function settingsRoutes(app: App): FastifyPluginAsyncTypebox {
  const { institutions, identifierPreview } = app.services;
  return async (server) => {
    server.get('/institution/settings', { schema: { summary: "The caller's institution's settings", tags: TAGS } }, async (req) =>
      toWire((await institutions.settingsOf(req.actor!, callerInstitution(req))).settings),
    );

    server.patch(
      '/institution/settings',
      { schema: { summary: "Change the institution's settings (the fields given; null clears)", tags: TAGS, body: Patch } },
      async (req) =>
        toWire((await institutions.changeSettings(req.actor!, callerInstitution(req), fromWire(req.body) as Record<string, unknown>, wirePath)).settings),
    );

    server.get(
      '/institution/settings/identifier-generation/preview',
      {
        schema: {
          summary: "The value a record type's identifier generation rule gives the next new user, without taking it",
          description:
            'Reads the counter without moving it and skips values someone holds, as a create does: what the next user created ' +
            'without that identifier gets, unless another is created first. 404 when the record type has no rule.',
          tags: TAGS,
          querystring: Type.Object({ record_type: Type.String({ minLength: 1, maxLength: 16, description: 'PUBLIC, STAFF or CONTACT' }) }),
        },
      },
      async (req) => {
        const next = await identifierPreview.next(req.actor!, callerInstitution(req), req.query.record_type);
        return { record_type: next.recordType, identifier_type: next.identifierType, next_value: next.value };
      },
    );

    server.get('/network/settings', { schema: { summary: "The settings of the caller's network", tags: TAGS } }, async (req, reply) => {
      const { network, zone } = await institutions.networkOf(req.actor!, callerInstitution(req));
      void reply.header('x-carrel-network', network.code);
      if (zone) void reply.header('x-carrel-network-zone', zone.code);
      return toWire(network.settings);
    });

    server.patch(
      '/network/settings',
      { schema: { summary: "Change the network's settings (config:manage at the network zone)", tags: TAGS, body: Patch } },
      async (req) =>
        toWire((await institutions.changeNetworkSettings(req.actor!, callerInstitution(req), fromWire(req.body) as Record<string, unknown>, wirePath)).network.settings),
    );
  };
}
