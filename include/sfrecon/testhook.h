/* testhook.h — named points on the write paths (repair batches, the
 * Salesforce call and the commit of its Ids, sync push batches) where a test
 * can kill the process to prove that a re-run converges.
 *
 * build/sfrecon links the no-op of src/core/testhook.c: nothing is read from
 * the environment and nothing can be triggered. build/sfrecon-test links
 * tests/hooks/testhook.c instead (same symbol, linked before the library),
 * which raises SIGKILL when SFRECON_TEST_KILL_AT says so (see that file). */
#ifndef SFRECON_TESTHOOK_H
#define SFRECON_TESTHOOK_H

/* Marks that the write path reached `point` ("repair.batch", ...). */
void sfr_test_point(const char *point);

#endif
