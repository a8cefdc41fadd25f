/**
 * Test-only sign-in shared by both apps: signs in at once with the test backend's static
 * token from window.__APP_CONFIG__ (a loopback test backend has no auth provider), so every
 * backend call carries `Authorization: Bearer <token>`, which the backend's externalAccess
 * config accepts.
 */
import { useEffect } from 'react';

export function StaticTokenSignIn({ onSignInSuccess }) {
  useEffect(() => {
    const token = window.__APP_CONFIG__?.inferenceScaffolderTest?.backendToken;
    const identity = { type: 'user', userEntityRef: 'user:default/form-tester', ownershipEntityRefs: [] };
    const profile = { email: 'form-tester@example.com', displayName: 'Form tester' };
    onSignInSuccess({
      getUserId: () => 'form-tester',
      getIdToken: async () => token,
      getProfile: () => profile,
      getProfileInfo: async () => profile,
      getBackstageIdentity: async () => ({ ...identity, token }),
      getCredentials: async () => ({ token }),
      signOut: async () => {},
    });
  }, [onSignInSuccess]);
  return null;
}
