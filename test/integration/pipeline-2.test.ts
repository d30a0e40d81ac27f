/** Half 2 of the pipeline's end-to-end cases (test/integration/pipeline-cases.ts). */
import { pipelineCases } from "./pipeline-cases.js";

pipelineCases(2);
