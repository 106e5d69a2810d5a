import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

// Without VITE_GATEWAY_URL the app calls its own origin (`/graphql`, and `/demo/config.json` for
// the embedded tenant's settings): the dev server forwards both to the gateway of the root's
// `npm start` (GATEWAY_ORIGIN to point it elsewhere), so no CORS_ORIGINS is needed in development.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '');
  const target = env.GATEWAY_ORIGIN ?? 'http://127.0.0.1:4000';
  return {
    plugins: [react()],
    server: {
      host: '127.0.0.1',
      port: 5173,
      proxy: { '/graphql': target, '/demo/config.json': target },
    },
    preview: { host: '127.0.0.1', port: 4173, proxy: { '/graphql': target, '/demo/config.json': target } },
    // One chunk of about 190 kB gzipped (React, Apollo Client with graphql-js, the Auth0 SDK).
    build: { sourcemap: true, chunkSizeWarningLimit: 800 },
  };
});
