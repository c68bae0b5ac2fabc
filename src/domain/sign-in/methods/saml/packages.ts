// The SAML packages (node-saml, xml-crypto, xmldom: about a tenth of a second to load), loaded on
// first use rather than at start-up: every Carrel command builds the app, and only a Carrel with a
// SAML method, at a SAML sign-in or a metadata fetch, needs them. Synchronous (the callers are),
// hence require; the types are the packages' own.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let nodeSaml: typeof import('@node-saml/node-saml') | undefined;
let xmlCrypto: typeof import('xml-crypto') | undefined;
let xmldom: typeof import('@xmldom/xmldom') | undefined;

export const nodeSamlPackage = () => (nodeSaml ??= require('@node-saml/node-saml') as typeof import('@node-saml/node-saml'));
export const xmlCryptoPackage = () => (xmlCrypto ??= require('xml-crypto') as typeof import('xml-crypto'));
export const xmldomPackage = () => (xmldom ??= require('@xmldom/xmldom') as typeof import('@xmldom/xmldom'));
