import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';

// Workflows that carry a test's text through every kind of payload: workflow input, activity input
// and result, workflow result, and failure messages from an activity and from the workflow itself.

export interface EchoActivities {
  shout(text: string): Promise<string>;
  refuse(text: string): Promise<void>;
}

const { shout, refuse } = proxyActivities<EchoActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 1 } });

export async function echoWorkflow(text: string): Promise<string> {
  return shout(text);
}

export async function activityRefusesWorkflow(text: string): Promise<void> {
  await refuse(text);
}

export function workflowRefusesWorkflow(text: string): Promise<void> {
  return Promise.reject(ApplicationFailure.nonRetryable(`the workflow refuses ${text}`, 'Refused'));
}
