import { JobDebugger } from "../../_components/job-debugger";

export default async function JobPage({ params }: { params: Promise<{ jobId: string }> }) {
  const { jobId } = await params;
  return <JobDebugger jobId={decodeURIComponent(jobId)} />;
}
