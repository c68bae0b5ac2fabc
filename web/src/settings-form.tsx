// The settings pages' one way to read, edit and save settings: GET /api/v1/institution/settings
// (or /network/settings), a draft the form edits in the API's own shape, and a PATCH of only what
// changed. Every rule (ranges, identifier types, the password floor) is the server's; its refusal
// names the setting's path (identifier_generation.PUBLIC.padding), which is how the fields are keyed.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError } from './api';
import { fieldErrors } from './field-errors';

export type Settings = Record<string, unknown>;
export type Scope = 'institution' | 'network';

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The merge patch from saved to draft: changed fields only; within a map by record type
 * (mandatory_identifier, identifier_generation) only the changed entries, a removed one as null.
 */
export function changedPatch(saved: Settings, draft: Settings): Settings {
  const patch: Settings = {};
  for (const key of Object.keys(draft)) {
    const [was, now] = [saved[key], draft[key]];
    if (same(was, now)) continue;
    if (isMap(was) && isMap(now)) {
      const inner: Settings = {};
      for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) if (!same(was[k], now[k])) inner[k] = now[k] ?? null;
      patch[key] = inner;
    } else patch[key] = now;
  }
  return patch;
}

/** A number field's value: the number when it reads as one, else the text (the server says why not). */
export const numberOrText = (v: string): number | string => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/** A field's id: its setting's path, dots made dashes (an id with dots is awkward in selectors). */
export const idOf = (path: string) => path.replace(/\./g, '-');

export function useSettings(scope: Scope) {
  const [saved, setSaved] = useState<Settings | null>(null);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [headers, setHeaders] = useState<Headers | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState('');
  const [absent, setAbsent] = useState(false);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void api<Settings>('GET', `/${scope}/settings`)
      .then(({ body, headers: h }) => {
        setSaved(body);
        setDraft(body);
        setHeaders(h);
      })
      .catch((e) => {
        // An institution outside any network has no network settings: nothing to show.
        if (e instanceof ApiError && e.status === 404) setAbsent(true);
        else setLoadError(e instanceof Error ? e.message : 'Carrel could not be reached.');
      });
  }, [scope]);

  /** Sets one setting (top-level, or an entry of a map by its record type). */
  const set = useCallback((key: string, value: unknown, entry?: string) => {
    setNotice('');
    setDraft((d) => {
      if (!d) return d;
      if (entry === undefined) return { ...d, [key]: value };
      const map = { ...(d[key] as Settings) };
      if (value === undefined) delete map[entry];
      else map[entry] = value;
      return { ...d, [key]: map };
    });
  }, []);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!saved || !draft) return;
    setErrors({});
    setNotice('');
    const patch = changedPatch(saved, draft);
    if (!Object.keys(patch).length) return setNotice('Nothing to save: no setting was changed.');
    setBusy(true);
    try {
      const { body } = await api<Settings>('PATCH', `/${scope}/settings`, { body: patch });
      setSaved(body);
      setDraft(body);
      setNotice('Saved.');
    } catch (err) {
      setErrors(err instanceof ApiError ? fieldErrors(err.errors) : { '': 'Carrel could not be reached; nothing was saved.' });
    } finally {
      setBusy(false);
    }
  };

  /** The refusal of this setting or of a part of it (break_glass_notify.2 is break_glass_notify's). */
  const errorAt = (path: string): string | undefined => {
    const found = Object.entries(errors).filter(([k]) => k === path || k.startsWith(`${path}.`));
    return found.length ? found.map(([, m]) => m).join(' ') : undefined;
  };

  return { saved, draft, headers, errors, errorAt, loadError, absent, notice, busy, set, save };
}

export type SettingsForm = ReturnType<typeof useSettings>;

/** What went wrong above the form (every refusal, also those shown at their field) and the saved confirmation. */
export function SaveStatus({ form }: { form: SettingsForm }) {
  const messages = Object.values(form.errors);
  return (
    <>
      {(form.loadError || messages.length > 0) && (
        <div className="error" role="alert">
          {form.loadError || (
            <>
              Not saved; nothing was changed. {messages.join(' ')}
            </>
          )}
        </div>
      )}
      {form.notice && (
        <p className="notice" role="status">
          {form.notice}
        </p>
      )}
    </>
  );
}

export function SaveButton({ form, label = 'Save' }: { form: SettingsForm; label?: string }) {
  return (
    <div className="actions">
      <button type="submit" disabled={form.busy || !form.draft}>
        {form.busy ? 'Saving…' : label}
      </button>
    </div>
  );
}
