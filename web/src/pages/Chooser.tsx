// Which institution's login page? Asked once when the browser has no session and the address
// names none (?institution=CODE); the choice is remembered in this browser. There is no public
// list of a deployment's institutions on purpose: a hosted Carrel serves several networks.
import { useState, type FormEvent } from 'react';
import { INSTITUTION_CODE, rememberInstitution, sendToLogin } from '../session';

export function Chooser() {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = code.trim();
    if (!INSTITUTION_CODE.test(c)) return setError('Enter the institution code your library uses, e.g. 01DEMO_NORTH.');
    rememberInstitution(c);
    sendToLogin(c);
  };
  return (
    <main id="main" className="chooser">
      <h1>Carrel staff console</h1>
      <p>Sign in through your institution.</p>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="inst">Institution code</label>
          <input
            id="inst"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="organization"
            autoFocus
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'inst-error' : undefined}
          />
          {error && (
            <p className="field-error" id="inst-error">
              {error}
            </p>
          )}
        </div>
        <button type="submit" className="primary">
          Continue to sign in
        </button>
      </form>
    </main>
  );
}
