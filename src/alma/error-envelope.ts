// Alma's error envelope (web_service_result.xsd). errorCode is always a string: some are
// numbers (401861), some symbolic (UNAUTHORIZED).
import type { Json } from './json-values.js';
import { toXmlDocument } from './xml-codec.js';

export interface EnvelopeError {
  code: string;
  message: string;
  /** Optional in web_service_result.xsd; real Alma leaves it out on API-key errors. */
  trackingId?: string;
}

const NAMESPACE = 'http://com/exlibris/urm/general/xmlbeans';

function errorList(errors: readonly EnvelopeError[]): Json {
  return {
    error: errors.map((e) => ({
      errorCode: e.code,
      errorMessage: e.message,
      ...(e.trackingId === undefined ? {} : { trackingId: e.trackingId }),
    })),
  };
}

export function errorEnvelopeJson(errors: readonly EnvelopeError[]): Json {
  return { errorsExist: true, errorList: errorList(errors), result: null };
}

export function errorEnvelopeXml(errors: readonly EnvelopeError[]): string {
  return toXmlDocument(
    'web_service_result',
    { xmlns: NAMESPACE, errorsExist: true, errorList: errorList(errors) },
    { attributes: new Set(['xmlns']), wrappers: {} },
  );
}
