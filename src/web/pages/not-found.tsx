// A page for URLs the UI does not know.

import { Link, useTitle } from '../lib/router.js';

export function NotFound({ message }: { message?: string }) {
  useTitle('Not found');
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>{message ?? 'There is no page at this address.'}</p>
      <p>
        <Link to="/">Go to the projects</Link>
      </p>
    </main>
  );
}
