// Moved to @app/fixtures (shared with the benches and the demo). Kept as a re-export only for specs still importing
// it from here (test/resource-pipeline.e2e-spec.ts, written at the same time); delete once they import @app/fixtures.
export { mappedAttributeBody, TUTORIAL_MAPPINGS } from '@app/fixtures';
