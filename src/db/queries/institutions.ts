// SQL for network and institution.
import type { Queryable, Row } from '../database.js';
import { institutionSettings, networkSettings, type Institution, type InstitutionSettings, type Network, type NetworkSettings } from '../../model/institution.js';

const toNetwork = (r: Row): Network => ({
  id: r.id as string,
  code: r.code as string,
  name: r.name as string,
  settings: networkSettings(r.settings),
});

const toInstitution = (r: Row): Institution => ({
  id: r.id as string,
  code: r.code as string,
  name: r.name as string,
  networkId: (r.network_id as string | null) ?? null,
  isNetworkZone: r.is_network_zone as boolean,
  settings: institutionSettings(r.settings),
});

const INSTITUTION_COLUMNS = 'id, code, name, network_id, is_network_zone, settings';

export async function insertNetwork(db: Queryable, code: string, name: string): Promise<Network> {
  return toNetwork(await db.one('INSERT INTO network (code, name) VALUES ($1, $2) RETURNING *', [code, name]));
}

export async function findNetworkByCode(db: Queryable, code: string): Promise<Network | undefined> {
  const r = await db.maybeOne('SELECT * FROM network WHERE lower(code) = lower($1)', [code]);
  return r && toNetwork(r);
}

export async function findNetworkById(db: Queryable, id: string, forUpdate = false): Promise<Network | undefined> {
  const r = await db.maybeOne(`SELECT * FROM network WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r && toNetwork(r);
}

export async function updateNetworkSettings(db: Queryable, id: string, settings: NetworkSettings): Promise<void> {
  await db.query('UPDATE network SET settings = $2 WHERE id = $1', [id, JSON.stringify(settings)]);
}

export async function insertInstitution(
  db: Queryable,
  i: { code: string; name: string; networkId: string | null; isNetworkZone: boolean },
): Promise<Institution> {
  return toInstitution(
    await db.one(
      `INSERT INTO institution (code, name, network_id, is_network_zone) VALUES ($1, $2, $3, $4)
       RETURNING ${INSTITUTION_COLUMNS}`,
      [i.code, i.name, i.networkId, i.isNetworkZone],
    ),
  );
}

export async function findInstitutionByCode(db: Queryable, code: string): Promise<Institution | undefined> {
  const r = await db.maybeOne(`SELECT ${INSTITUTION_COLUMNS} FROM institution WHERE lower(code) = lower($1)`, [code]);
  return r && toInstitution(r);
}

/** forUpdate: locked for the rest of the transaction (a change of settings reads, merges, writes). */
export async function findInstitutionById(db: Queryable, id: string, forUpdate = false): Promise<Institution | undefined> {
  const r = await db.maybeOne(`SELECT ${INSTITUTION_COLUMNS} FROM institution WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r && toInstitution(r);
}

export async function listInstitutions(db: Queryable): Promise<Institution[]> {
  return (await db.query(`SELECT ${INSTITUTION_COLUMNS} FROM institution ORDER BY lower(code)`)).map(toInstitution);
}

/** The network zone of a network: the institution whose config:manage changes the network's settings. */
export async function findNetworkZone(db: Queryable, networkId: string): Promise<Institution | undefined> {
  const r = await db.maybeOne(`SELECT ${INSTITUTION_COLUMNS} FROM institution WHERE network_id = $1 AND is_network_zone`, [networkId]);
  return r && toInstitution(r);
}

export async function listInstitutionIdsOfNetwork(db: Queryable, networkId: string): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id FROM institution WHERE network_id = $1', [networkId])).map((r) => r.id);
}

export async function updateInstitutionSettings(db: Queryable, id: string, settings: InstitutionSettings): Promise<void> {
  await db.query('UPDATE institution SET settings = $2 WHERE id = $1', [id, JSON.stringify(settings)]);
}
