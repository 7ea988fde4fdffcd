/* survey_int.h - helpers shared by survey.c (asking side), respond.c
 * (answering side) and survey_flows.c inside common; not a public header.
 */
#ifndef SFA_SURVEY_INT_H
#define SFA_SURVEY_INT_H

#include <nng/nng.h>

#define SFA__SURVEY_RECONN_MIN_MS 100  /* first redial after a lost surveyor */
#define SFA__SURVEY_RECONN_MAX_MS 1000 /* redial back-off ceiling */

/* Log an nng failure naming what and url; returns SFA_EBUS. */
int sfa__survey_nng_err(int rv, const char *what, const char *url);
/* Dial url without blocking (nng redials in the background). 0 or SFA_EBUS. */
int sfa__survey_dial(nng_socket sock, const char *url);
/* Listen on url; for ipc:// create the parent directory and replace a stale
 * socket file first. 0 or SFA_EBUS. */
int sfa__survey_listen(nng_socket sock, const char *url);

#endif
