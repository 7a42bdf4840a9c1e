@validation
Feature: PushApplicationData validates its parameters
  A request with a bad parameter gets a clear error, with HTTP status 400, and changes nothing.
  The official documentation lists "InvalidParameter.%s" (HTTP 400) for a bad parameter. It leaves
  open whether an absent required parameter answers "MissingParameter", the gateway's
  "Missing<Name>" or "InvalidParameter.<Name>", and which keys a Data item must have: those are
  ensmock's decisions (@extended). ensmock's own limits (no more than 100 items, its list of
  archive types, numbers only as JSON numbers, one item per name and version) are refused only
  by a strict mock (@strict).

  Background:
    Given a fresh application

  @core
  Scenario Outline: <parameter> is required
    When I call PushApplicationData without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "Missing<parameter>" or "InvalidParameter.<parameter>"
    And no data file is described

    Examples:
      | parameter |
      | AppId     |
      | Data      |

  @extended
  Scenario Outline: an absent <parameter> answers exactly MissingParameter
    When I call PushApplicationData without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter"

    Examples:
      | parameter |
      | AppId     |
      | Data      |

  @core
  Scenario: Data that is not a JSON string is refused
    When I push with the Data:
      """
      app01 version 1.0
      """
    Then the request fails with HTTP 400 and an InvalidParameter code
    And no data file is described

  @extended
  Scenario Outline: malformed Data answers InvalidParameter.Data (<case>)
    When I push with the Data:
      """
      <data>
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And no data file is described

    Examples:
      | case                    | data                                                  |
      | not JSON                | app01 version 1.0                                     |
      | an object, not an array | {"name":"{app01}","version":"1.0","url":"{url}"}      |
      | an item without name    | [{"version":"1.0","url":"{url}"}]                     |
      | an item without version | [{"name":"{app01}","url":"{url}"}]                    |
      | name as a number        | [{"name":42,"version":"1.0","url":"{url}"}]           |

  @extended @strict
  Scenario Outline: a strict mock refuses what only breaks ensmock's limits (<case>)
    When I push with the Data:
      """
      <data>
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And no data file is described

    Examples:
      | case                            | data                                                                                          |
      | size as a string                | [{"name":"{app01}","version":"1.0","size":"100","url":"{url}"}]                               |
      | timeout as a string             | [{"name":"{app01}","version":"1.0","timeout":"100","url":"{url}"}]                            |
      | timeout over a day              | [{"name":"{app01}","version":"1.0","timeout":86401,"url":"{url}"}]                            |
      | archiveType TAR.GZ              | [{"name":"{app01}","version":"1.0","archiveType":"TAR.GZ","url":"{url}"}]                     |
      | archiveType empty               | [{"name":"{app01}","version":"1.0","archiveType":"","url":"{url}"}]                           |
      | archiveType rar                 | [{"name":"{app01}","version":"1.0","archiveType":"rar","url":"{url}"}]                        |
      | the same name and version twice | [{"name":"{app01}","version":"1.0","url":"{url}"},{"name":"{app01}","version":"1.0","url":"{url}"}] |

  @extended @strict
  Scenario Outline: a strict mock refuses Data that only breaks ensmock's limits (<case>)
    When I push with the Data:
      """
      <data>
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And no data file is described

    Examples:
      | case                    | data                                                  |
      | an empty array          | []                                                    |
      | an item without url     | [{"name":"{app01}","version":"1.0"}]                  |

  @extended @strict @strategy
  Scenario Outline: a strict mock refuses a PushStrategy that only breaks ensmock's limits (<case>)
    When I push "app01" version "1.0" with the push strategy:
      """
      <strategy>
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.PushStrategy"
    And no data file is described

    Examples:
      | case                     | strategy                                                                                      |
      | an unknown strategy name | {"name":"ScheduleToNowhere","parameters":{"operator":"In","values":["cn-wuxi-5"]}}            |
      | an unknown operator      | {"name":"ScheduleToRegionId","parameters":{"operator":"Near","values":["cn-wuxi-5"]}}         |
      | empty values             | {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[]}}                      |

  @extended @strict
  Scenario: a strict mock refuses more than 100 data files at once
    When I push 101 data files at once
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And no data file is described

  @extended @strategy
  Scenario Outline: a malformed PushStrategy answers InvalidParameter.PushStrategy (<case>)
    When I push "app01" version "1.0" with the push strategy:
      """
      <strategy>
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.PushStrategy"
    And no data file is described

    Examples:
      | case                     | strategy                                                                                      |
      | not JSON                 | ScheduleToRegionId In cn-wuxi-5                                                               |
      | no parameters            | {"name":"ScheduleToRegionId"}                                                                 |
      | a number                 | 42                                                                                            |

  @core
  Scenario: Timeout is accepted and has no effect
    The official documentation: "This parameter does not take effect." A data file is pushed as
    well with Timeout=1 as without.

    When I push "app01" version "1.0"
    Then the ResultCode of "app01" is 0
    When I push "app02" version "1.0" with Timeout "1"
    Then the request succeeds
    And the ResultCode of "app02" is 0
    When "app01" version "1.0" has been pushed to every target file server
    Then "app02" version "1.0" has been pushed to every target file server
    When I push "app02" version "1.0" again
    Then the ResultCode of "app02" is 100
