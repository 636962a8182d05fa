import { JobsView } from "../_components/jobs-view";

export default function JobsPage() {
  return <JobsView />;
}
