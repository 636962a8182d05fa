import { Suspense } from "react";
import { DiffView } from "../../_components/diff-view";

export default function DiffPage() {
  // The view reads the query string (useSearchParams), which needs a Suspense boundary.
  return (
    <Suspense>
      <DiffView />
    </Suspense>
  );
}
