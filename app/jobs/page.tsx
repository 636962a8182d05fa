import { Suspense } from "react";
import { JobsView } from "../_components/jobs-view";

export default function JobsPage() {
  // The view reads the query string (useSearchParams), which needs a Suspense boundary.
  return (
    <Suspense>
      <JobsView />
    </Suspense>
  );
}
