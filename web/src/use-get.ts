// What most pages do first: read something when shown (and again when its address changes), and
// show the answer, or why it failed in the server's words (errorText); `reload` reads it again
// after a change the page made. An answer that arrives after the page moved on (another address,
// a newer read, or the page gone) is dropped, so a slow old answer never replaces a newer one.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorText } from './api';

export interface Got<T> {
  /** The last answer; undefined until the first arrives (and after the address changed). */
  data: T | undefined;
  /** Why the last read failed, or ''. */
  error: string;
  reload: () => Promise<void>;
}

export function useGet<T>(path: string): Got<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState('');
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++latest.current;
    try {
      const { body } = await api<T>('GET', path);
      if (mine !== latest.current) return;
      setData(body);
      setError('');
    } catch (e) {
      if (mine === latest.current) setError(errorText(e));
    }
  }, [path]);
  useEffect(() => {
    setData(undefined);
    void reload();
    return () => {
      latest.current++;
    };
  }, [reload]);
  return { data, error, reload };
}
