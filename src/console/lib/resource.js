import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * Loads from the API and keeps it fresh: `useResource(() => api('GET', '/sync/health'), [])`.
 * With `pollMs`, loads again on that interval while `keepPolling(data)` says so (default: always);
 * a failed load is tried again, more slowly, so a short outage of the service does not end it.
 * `deps` are what `load` depends on, as for Preact's useCallback.
 */
export function useResource(load, deps, { pollMs, keepPolling = () => true } = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true, loadedAt: undefined });
  const generation = useRef(0);
  const timer = useRef(undefined);

  const run = useCallback(async () => {
    const mine = ++generation.current;
    clearTimeout(timer.current);
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await load();
      if (mine !== generation.current) return;
      setState({ data, error: undefined, loading: false, loadedAt: new Date() });
      if (pollMs && keepPolling(data)) timer.current = setTimeout(run, pollMs);
    } catch (error) {
      if (mine !== generation.current) return;
      setState((previous) => ({ ...previous, error, loading: false }));
      if (pollMs) timer.current = setTimeout(run, pollMs * 3);
    }
  }, deps);

  useEffect(() => {
    void run();
    return () => {
      generation.current += 1;
      clearTimeout(timer.current);
    };
  }, [run]);

  return { ...state, reload: run };
}
