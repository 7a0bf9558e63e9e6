/** Pages with plain forms (sign in, sign out): give each form the XSRF token it must post. */
import { fillXsrfFields } from './api.ts';

fillXsrfFields();
